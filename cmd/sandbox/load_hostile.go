package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadHostile measures the sandbox's memory through the hostile load of
// issue #13, all at once: 8 concurrent 10 MB Khipu creates with a wrong
// signature, 20 clients that ask for a full journal page and never read the
// answer, and 500 connections that send their body one byte a second. It
// reports the peak RSS (VmHWM) of the started sandbox, its RSS when the
// burst ends, and once it has been idle (the memory policy gives back what
// the burst used).
func loadHostile(ctx context.Context, o loadOptions, child *spawned, stdout io.Writer) error {
	if child == nil {
		return fmt.Errorf("load hostile: needs a sandbox it starts itself (no --target): it reads the process's RSS")
	}
	u, _ := url.Parse(o.target)
	addr := u.Host
	// Fill the journal so that each stalled reader asks for a large answer.
	for i := range 1000 {
		resp, err := http.Get(o.target + "/khipu/api/2.0/payments/none" + strconv.Itoa(i))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fmt.Fprintf(stdout, "before: RSS %s\n", mib(child.rss()))
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}

	// 500 slow connections: headers, then one byte of body a second.
	var conns []net.Conn
	for range 500 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("slow connection: %w", err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /khipu/api/2.0/payments HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", addr)
	}
	stopSlow := make(chan struct{})
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopSlow:
				return
			case <-t.C:
				for _, c := range conns {
					c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
					c.Write([]byte("a"))
				}
			}
		}
	})
	// 20 stalled readers of the journal.
	var stalled []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		stalled = append(stalled, c)
		fmt.Fprintf(c, "GET /_sandbox/api/journal?limit=1000 HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	}
	// 8 concurrent 10 MB creates with a wrong signature.
	body := "subject=" + strings.Repeat("a", 10_000_000-len("subject=")-len("&amount=1000&currency=CLP")) + "&amount=1000&currency=CLP"
	for range 8 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", o.target+"/khipu/api/2.0/payments", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "123456:"+strings.Repeat("0", 64))
			resp, err := http.DefaultClient.Do(req)
			code := -1
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			statuses[code]++
			mu.Unlock()
		})
	}
	// Sample while the burst runs; the slow connections run for 40 s, past
	// the sandbox's 30 s body deadline.
	peakSampled := int64(0)
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		peakSampled = max(peakSampled, child.rss())
		time.Sleep(100 * time.Millisecond)
	}
	close(stopSlow)
	wg.Wait()
	closedSlow := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := bufio.NewReader(c).ReadByte(); err == nil || err == io.EOF {
			closedSlow++ // answered or closed by the sandbox
		}
		c.Close()
	}
	for _, c := range stalled {
		c.Close()
	}
	fmt.Fprintf(stdout, "burst (%v): 8 × 10 MB creates answered %v; %d of 500 slow connections answered or closed by the sandbox\n",
		time.Since(start).Round(time.Second), statuses, closedSlow)
	fmt.Fprintf(stdout, "peak RSS %s (VmHWM), highest sampled %s, at the end %s\n", mib(child.hwm()), mib(peakSampled), mib(child.rss()))
	time.Sleep(15 * time.Second)
	fmt.Fprintf(stdout, "after 15 s idle: RSS %s\n", mib(child.rss()))
	return nil
}

// hwm reads the peak resident set size of the child from /proc (Linux).
func (s *spawned) hwm() int64 { return s.procStatus("VmHWM:") }
