package payment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"
)

func TestLuhn(t *testing.T) {
	tests := []struct {
		number string
		want   bool
	}{
		{"4242424242424242", true},
		{"4242 4242 4242 4242", true},
		{"4242-4242-4242-4242", true},
		{"5555555555554444", true},
		{"378282246310005", true},
		{"6011111111111117", true},
		{"4000000000000002", true},
		{"4000000000000341", true},
		{"79927398713", true},
		{"00", true},
		{"4242424242424241", false},
		{"4242424242424243", false},
		{"378282246310006", false},
		{"79927398710", false},
		{"4242x424242424242", false},
		{"4242.4242.4242.4242", false},
		{"４２４２４２４２４２４２４２４２", false}, // full-width digits
		{"0", false},
		{"", false},
		{" - ", false},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			if got := Luhn(tt.number); got != tt.want {
				t.Errorf("Luhn(%q) = %v, want %v", tt.number, got, tt.want)
			}
		})
	}
}

func TestBrand(t *testing.T) {
	tests := []struct {
		number string
		want   string
	}{
		{"4242424242424242", BrandVisa},
		{"4000 0000 0000 0002", BrandVisa},
		{"5555555555554444", BrandMastercard},
		{"5105105105105100", BrandMastercard},
		{"5500000000000004", BrandMastercard},
		{"2221000000000009", BrandMastercard},
		{"2720990000000007", BrandMastercard},
		{"2220990000000000", BrandUnknown},
		{"2721000000000000", BrandUnknown},
		{"5000000000000000", BrandUnknown},
		{"5600000000000000", BrandUnknown},
		{"378282246310005", BrandAmex},
		{"340000000000009", BrandAmex},
		{"350000000000000", BrandUnknown},
		{"6011111111111117", BrandDiscover},
		{"6011-0009-9013-9424", BrandDiscover},
		{"6221260000000000", BrandDiscover},
		{"6229250000000000", BrandDiscover},
		{"6221250000000000", BrandUnknown},
		{"6440000000000000", BrandDiscover},
		{"6490000000000000", BrandDiscover},
		{"6500000000000000", BrandDiscover},
		{"6430000000000000", BrandUnknown},
		{"3530111333300000", BrandUnknown}, // JCB
		{"4", BrandVisa},
		{"", BrandUnknown},
		{"abc", BrandUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			if got := Brand(tt.number); got != tt.want {
				t.Errorf("Brand(%q) = %q, want %q", tt.number, got, tt.want)
			}
		})
	}
}

func TestLast4(t *testing.T) {
	tests := []struct {
		number string
		want   string
	}{
		{"4242424242424242", "4242"},
		{"3782 822463 10005", "0005"},
		{"5555-5555-5555-4444", "4444"},
		{"123456789012", "9012"},
		{"12345678901", ""}, // too short: would show too much
		{"1234", ""},
		{"", ""},
		{"4242424242x42424", ""},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			if got := Last4(tt.number); got != tt.want {
				t.Errorf("Last4(%q) = %q, want %q", tt.number, got, tt.want)
			}
		})
	}
}

// TestCardRedacted checks that printing, logging or encoding a card never
// shows its number or security code.
func TestCardRedacted(t *testing.T) {
	c := Card{Number: "4242 4242 4242 4242", CVC: "987", ExpMonth: 3, ExpYear: 2031, Name: "Erika Mustermann", Address: "Heidestraße 17, Köln"}
	var logBuf, slogText, slogJSON bytes.Buffer
	log.New(&logBuf, "", 0).Printf("card %v", c)
	slog.New(slog.NewTextHandler(&slogText, nil)).Info("tokenize", "card", c)
	slog.New(slog.NewJSONHandler(&slogJSON, nil)).Info("tokenize", "card", c, "group", slog.GroupValue(slog.Any("c", c)))
	js, err := json.Marshal(struct{ C Card }{c})
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":        fmt.Sprintf("%v", c),
		"%+v":       fmt.Sprintf("%+v", c),
		"%#v":       fmt.Sprintf("%#v", c),
		"%s":        fmt.Sprintf("%s", c),
		"%d":        fmt.Sprintf("%d", c),
		"%x":        fmt.Sprintf("%x", c),
		"%q":        fmt.Sprintf("%q", c),
		"pointer":   fmt.Sprintf("%+v", &c),
		"in struct": fmt.Sprintf("%+v", struct{ C Card }{c}),
		"log":       logBuf.String(),
		"slog text": slogText.String(),
		"slog json": slogJSON.String(),
		"json":      string(js),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			for _, secret := range []string{"4242424242424242", "4242 4242 4242 4242", "987"} {
				if strings.Contains(out, secret) {
					t.Errorf("output %q contains %q", out, secret)
				}
			}
		})
	}
	if want := "card(visa ••••4242, expires 03/2031)"; fmt.Sprint(c) != want {
		t.Errorf("fmt.Sprint(card) = %q, want %q", fmt.Sprint(c), want)
	}
}

func TestContainsCardNumber(t *testing.T) {
	for text, want := range map[string]bool{
		"4242424242424242": true, "4242 4242 4242 4242": true, "4242-4242-4242-4242": true,
		"4242.4242.4242.4242": true, "4242  4242 / 4242 4242": true, "Card 378282246310005 please": true,
		"Alice Adams": false, "Hauptstraße 12, 10115 Berlin": false, "12/2030": false, "12345678901": false,
	} {
		if got := ContainsCardNumber(text); got != want {
			t.Errorf("ContainsCardNumber(%q) = %v, want %v", text, got, want)
		}
	}
}
