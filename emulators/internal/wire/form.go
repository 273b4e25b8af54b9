package wire

import (
	"bytes"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
)

// ParseForm reads the request's form (urlencoded or multipart) through
// ReadBody, so within limit bytes, and installs it as the request's Form,
// PostForm and MultipartForm: c.FormValue and c.FormFile then read it
// without parsing again. Multipart parts stay in memory (the body is
// already bounded: nothing is spooled to disk). A body over the limit or a
// form that cannot be parsed is an Invalid/TooLarge error, never a form
// with fields silently missing (issue #13). Other content types give an
// empty form.
func ParseForm(c echo.Context, limit int64) error {
	r := c.Request()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]))
	}
	vals := url.Values{}
	form := &multipart.Form{Value: map[string][]string{}}
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		body, err := ReadBody(c, limit)
		if err != nil {
			return err
		}
		if mt == "multipart/form-data" {
			if params["boundary"] == "" {
				return &emulators.Error{Kind: emulators.Invalid, Msg: "the multipart form has no boundary"}
			}
			f, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(limit + 1)
			if err != nil {
				return &emulators.Error{Kind: emulators.Invalid, Msg: "the multipart form could not be read: " + err.Error(), Err: err}
			}
			form = f
			for k, v := range f.Value {
				vals[k] = v
			}
		} else {
			v, err := url.ParseQuery(string(body))
			if err != nil {
				return &emulators.Error{Kind: emulators.Invalid, Msg: "the form could not be read: " + err.Error(), Err: err}
			}
			vals = v
		}
		r.Body = http.NoBody
	}
	all := r.URL.Query()
	for k, v := range vals {
		all[k] = append(append([]string(nil), v...), all[k]...)
	}
	r.PostForm, r.Form, r.MultipartForm = vals, all, form
	return nil
}
