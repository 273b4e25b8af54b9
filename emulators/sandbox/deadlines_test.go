package sandbox_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// pipeListener hands the server the far ends of net.Pipe connections: a
// network inside a synctest bubble, where deadlines run on fake time.
type pipeListener struct {
	ch   chan net.Conn
	once sync.Once
	done chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080} }

func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.ch <- server
	return client
}

// Issue #13, class 4: a body that never finishes is cut after BodyTimeout
// (the connection does not stay held), while an event stream whose reader
// reads stays open far longer than any request deadline, and one whose
// reader stops is cut after StreamWriteTimeout.
func TestPerRouteDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb := newSandbox(t, nil, sandbox.Options{})
		srv := sb.NewServer()
		ln := newPipeListener()
		go srv.Serve(ln)
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			sb.BeginShutdown()
			srv.Shutdown(ctx)
		}()

		// A slow body: headers, a few bytes, then nothing.
		slow := ln.dial()
		go io.WriteString(slow, "POST /_sandbox/api/clock/advance HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"by\":")
		closed := make(chan error, 1)
		go func() { _, err := io.ReadAll(slow); closed <- err }()
		time.Sleep(sandbox.BodyTimeout - time.Second)
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("the slow body's connection ended before BodyTimeout")
		default:
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		select {
		case <-closed:
		default:
			t.Fatal("the slow body still holds its connection after BodyTimeout")
		}
		if sb.Clock().Offset() != 0 {
			t.Error("the cut request moved the clock")
		}

		// An event stream that is read stays open across many write timeouts.
		es := ln.dial()
		io.WriteString(es, "GET /_sandbox/api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
		br := bufio.NewReader(es)
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				lines <- l
			}
		}()
		deadline := time.Now().Add(3 * sandbox.WriteTimeout)
		keepAlives := 0
		for time.Now().Before(deadline) {
			l, ok := <-lines
			if !ok {
				t.Fatalf("the event stream closed after %v", time.Until(deadline))
			}
			if strings.HasPrefix(l, ": keep-alive") {
				keepAlives++
			}
		}
		if keepAlives < 10 {
			t.Errorf("%d keep-alives in %v", keepAlives, 3*sandbox.WriteTimeout)
		}
		es.Close()

		// A stream whose reader stops is cut.
		stalled := ln.dial()
		io.WriteString(stalled, "GET /_sandbox/api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
		time.Sleep(2 * time.Minute) // nothing read: the first write blocks
		synctest.Wait()
		stalled.SetReadDeadline(time.Now().Add(time.Second))
		_, err := io.ReadAll(stalled)
		if err != nil && !errors.Is(err, io.EOF) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("the stalled stream is still open: %v", err)
			}
		}
	})
}
