// Package filewatch is for watchers that poll a file: it tells a change
// apart cheaply (modification time and size) and reports it only once it
// has settled. Programs that rewrite a file in place (htpasswd(1), most
// editors) leave it truncated or half written for a moment; a watcher
// that loaded that moment would drop what the file holds (every user,
// every key) until its next check.
package filewatch

import (
	"os"
	"time"
)

// Version identifies a file's content cheaply; the zero Version is a
// file that does not exist.
type Version struct {
	ModTime time.Time
	Size    int64
}

// Of is fi's Version.
func Of(fi os.FileInfo) Version { return Version{ModTime: fi.ModTime(), Size: fi.Size()} }

// Stat is the Version of the file at path now (zero when it is missing).
func Stat(path string) Version {
	fi, err := os.Stat(path)
	if err != nil {
		return Version{}
	}
	return Of(fi)
}

// Equal reports whether v and o are the same version.
func (v Version) Equal(o Version) bool { return v.ModTime.Equal(o.ModTime) && v.Size == o.Size }

// Settle decides, check after check, when a changed file may be loaded:
// once it has been seen the same at two checks in a row.
type Settle struct {
	seen    Version
	pending bool
}

// Ready reports whether cur, found at this check, is to be loaded now.
// changed says whether cur differs from the version loaded.
func (s *Settle) Ready(changed bool, cur Version) bool {
	switch {
	case !changed:
		s.pending = false
		return false
	case !s.pending || !cur.Equal(s.seen):
		s.seen, s.pending = cur, true // just changed, or still moving: look again next time
		return false
	}
	s.pending = false
	return true
}
