// Package emulators is the vocabulary the three provider emulators share:
// the error type every layer returns (rendered by each provider in its own
// envelope), exact decimal money, and the contract through which the PayU
// emulator pays with the Khipu emulator's pages.
//
// It has no HTTP in it. Provider packages (khipu, hambit, payu) import it;
// it imports none of them. The shared machinery (clock, store, journal,
// callback dispatcher, wire helpers) lives in emulators/internal, and
// emulators/sandbox wires everything into one server.
package emulators
