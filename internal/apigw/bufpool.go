package apigw

import "sync"

// bufPool lends ReverseProxy its copy buffers; without it every request
// allocates (and clears) 32 KiB.
type bufPool struct{ p sync.Pool }

const copyBufSize = 32 << 10

func newBufPool() *bufPool {
	return &bufPool{p: sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}}
}

func (b *bufPool) Get() []byte { return *(b.p.Get().(*[]byte)) }

func (b *bufPool) Put(buf []byte) {
	if cap(buf) == copyBufSize {
		buf = buf[:copyBufSize]
		b.p.Put(&buf)
	}
}
