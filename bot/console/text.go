package console

import "github.com/billingbot/billingbot/commands"

// The console's own words: what a chat platform's client would say around
// the bot's messages (prompts, the form's controls), from the locales like
// every other text. Some hold Printf verbs that the console fills.

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

// words returns the console's words in a language ("de" or "en").
func words(b *commands.Bot, lang string) chrome {
	t := func(id string) string { return b.Text(lang, id) }
	return chrome{
		banner:     t("ConsoleBanner"),
		bannerHelp: t("ConsoleBannerHelp"),
		formHelp:   t("ConsoleFormHelp"),
		choose:     t("ConsoleChoose"),
		chooseMany: t("ConsoleChooseMany"),
		people:     t("ConsolePeople"),
		yesNo:      t("ConsoleYesNo"),
		notAChoice: t("ConsoleNotAChoice"),
		abandoned:  t("ConsoleAbandoned"),
		cannotFix:  t("ConsoleCannotFix"),
		noButton:   t("ConsoleNoButton"),
		openURL:    t("ConsoleOpenURL"),
		stopped:    t("ConsoleStopped"),
	}
}
