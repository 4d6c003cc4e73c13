module github.com/portcullis/portcullis

go 1.26
