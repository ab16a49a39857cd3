package console

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/billingbot/billingbot/store/redistest"
)

// cardDigits is the card number the tests type, ungrouped.
const cardDigits = "4242424242424242"

// ungrouped is s without what card numbers are grouped by.
func ungrouped(s string) string { return strings.NewReplacer(" ", "", "-", "", ".", "").Replace(s) }

// TestCardNumberNowhere: a card number typed on a command line, at a
// choice or in a form's text is refused with the warning in the user's
// language; the console shows it only where it was typed (its transcript
// of the input), asks again for the refused field without it, and nothing
// of it is kept in Redis or logged.
func TestCardNumberNowhere(t *testing.T) {
	for name, addr := range map[string]func(*testing.T) string{
		"miniredis": func(t *testing.T) string { return miniredis.RunT(t).Addr() },
		"redis":     func(t *testing.T) string { return redistest.Real(t) },
	} {
		t.Run(name, func(t *testing.T) {
			tb := newTestBotAt(t, addr(t))
			tb.seedCard(t, "demo", "alice", "Alice Adams")
			log := slog.New(slog.NewTextHandler(tb.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			script := []string{
				"buy 4242 4242 4242 4242",
				"frobnicate " + cardDigits,
				"admin channel 4242-4242-4242-4242",
				"buy copilot 1", "", "", "", "", "y",
				"cancel copilot",
				"",                                       // subscription
				"4242 4242 4242 4242",                    // reason: not a choice
				"1",                                      // reason: too expensive
				"Paid with 4242 4242 4242 4242, CVC 731", // feedback: refused by the bot
				"y",                                      // confirm
				"Too dear",                               // feedback again
				"products",
			}
			out := tb.run(t, strings.Join(script, "\n")+"\n", Options{DueEvery: time.Hour, Log: log})
			mustContain(t, out,
				"Never enter a card number in chat.",
				"Feedback (optional)\n  ! Never enter a card number in chat.",
				"  ! Never enter a card number in chat.",
				"Feedback (optional): Too dear\n",
				"Microsoft 365 Copilot is canceled.",
			)
			mustNotContain(t, out, "is not one of the choices", "I don't know the command")
			// The transcript repeats a form's answers (not command lines):
			// the reason and the feedback typed.
			if n := strings.Count(ungrouped(out), cardDigits); n != 2 {
				t.Errorf("the card number is shown %d times, want 2 (where it was typed in the form)\noutput:\n%s", n, out)
			}
			for _, echo := range []string{"Choose a number: 4242 4242 4242 4242\n", "Feedback (optional): Paid with 4242 4242 4242 4242, CVC 731\n"} {
				if strings.Count(out, echo) != 1 {
					t.Errorf("the transcript lacks %q\noutput:\n%s", echo, out)
				}
			}
			if n := strings.Count(out, "Never enter a card number in chat."); n != 5 {
				t.Errorf("%d warnings, want 5\noutput:\n%s", n, out)
			}

			out = tb.run(t, "kaufen "+cardDigits+"\n", Options{Locale: "de", Log: log})
			mustContain(t, out, "Geben Sie niemals eine Kartennummer im Chat ein.")

			redistest.WantNowhere(t, tb.addr, cardDigits, "4242 4242 4242 4242")
			if logs := tb.logs.String(); strings.Contains(ungrouped(logs), cardDigits) {
				t.Errorf("the log holds the card number:\n%s", logs)
			}
		})
	}
}
