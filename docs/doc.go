// Package docs holds the project's reference documents (Markdown files next
// to this one) and the test that keeps every "§" citation in the repository
// resolvable: see README.md in this directory for the resolution rules.
package docs
