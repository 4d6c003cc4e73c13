package engine_test

import (
	"os"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopDockerds()
	os.Exit(code)
}
