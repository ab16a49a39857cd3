package console

// The console's own words: what a chat platform's client would say around
// the bot's messages (prompts, the form's controls). The bot's texts come
// from the core, already in the user's language.

type chrome struct {
	banner     string // org, user
	bannerHelp string
	formHelp   string
	choose     string
	chooseMany string
	people     string
	yesNo      string
	notAChoice string // value
	abandoned  string
	cannotFix  string
	noButton   string // number
	openURL    string // url
	stopped    string
}

var chromes = map[string]chrome{
	"en": {
		banner:     "billingbot console: organization %q, user %s",
		bannerHelp: "Type /billing help (or just help), a button's number to click it, or quit.",
		formHelp:   "Press Enter to keep the value in [brackets]; type “cancel” to close the form.",
		choose:     "Choose a number",
		chooseMany: "Numbers, comma-separated",
		people:     "Names or @mentions, comma-separated",
		yesNo:      "y/n",
		notAChoice: "“%s” is not one of the choices.",
		abandoned:  "Form closed; nothing was submitted.",
		cannotFix:  "This form cannot be completed as it is.",
		noButton:   "There is no button %d.",
		openURL:    "Open this in your browser: %s",
		stopped:    "Bye.",
	},
	"de": {
		banner:     "billingbot-Konsole: Organisation %q, Benutzer %s",
		bannerHelp: "Geben Sie /billing hilfe (oder nur hilfe) ein, die Nummer einer Schaltfläche, um sie zu klicken, oder quit.",
		formHelp:   "Mit Enter übernehmen Sie den Wert in [Klammern]; mit „cancel“ schließen Sie das Formular.",
		choose:     "Nummer wählen",
		chooseMany: "Nummern, durch Kommas getrennt",
		people:     "Namen oder @Erwähnungen, durch Kommas getrennt",
		yesNo:      "j/n",
		notAChoice: "„%s“ ist keine der Möglichkeiten.",
		abandoned:  "Formular geschlossen; es wurde nichts gesendet.",
		cannotFix:  "Dieses Formular lässt sich so nicht abschließen.",
		noButton:   "Es gibt keine Schaltfläche %d.",
		openURL:    "Öffnen Sie dies im Browser: %s",
		stopped:    "Tschüss.",
	},
}

// words returns the console's words in a language ("de" or "en").
func words(lang string) chrome {
	if c, ok := chromes[lang]; ok {
		return c
	}
	return chromes["en"]
}
