package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"strconv"
	"sync"
)

// lineWriter writes each complete line to out behind a prefix.
type lineWriter struct {
	mu     sync.Mutex
	out    io.Writer
	prefix string
	buf    bytes.Buffer
}

func prefixWriter(out io.Writer, prefix string) io.Writer {
	return &lineWriter{out: out, prefix: prefix}
}

// Write implements io.Writer.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadBytes('\n')
		if err != nil {
			w.buf.Write(line) // an incomplete line waits for its end
			return len(p), nil
		}
		if _, err := io.WriteString(w.out, w.prefix+string(line)); err != nil {
			return len(p), err
		}
	}
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// freePort returns a loopback port nobody listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return strconv.Atoi(port)
}
