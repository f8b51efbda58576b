//go:build nodev

package main

import "errors"

func startDevEngine() (devDatabase, error) {
	return nil, errors.New("this countycloud was built with -tags nodev, without the embedded dev engine; build it without that tag to use -dev")
}
