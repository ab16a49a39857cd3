//go:build tools

package tools

import (
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/nicksnyder/go-i18n/v2/i18n"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/redis/go-redis/v9"
	_ "golang.org/x/text/currency"
)
