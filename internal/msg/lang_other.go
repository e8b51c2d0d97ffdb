//go:build !windows && !darwin

package msg

// systemLang: without a locale in the environment, English.
func systemLang() Lang { return English }
