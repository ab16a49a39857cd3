package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/bot/internal/payload"
	"github.com/billingbot/billingbot/commands"
)

var errNoTrigger = errors.New("no trigger id")

// eventEnvelope is the part of an Events API request the adapter reads.
type eventEnvelope struct {
	Type           string `json:"type"`
	Challenge      string `json:"challenge"`
	TeamID         string `json:"team_id"`
	EnterpriseID   string `json:"enterprise_id"`
	EventID        string `json:"event_id"`
	Authorizations []struct {
		EnterpriseID        string `json:"enterprise_id"`
		TeamID              string `json:"team_id"`
		IsEnterpriseInstall bool   `json:"is_enterprise_install"`
	} `json:"authorizations"`
	Event struct {
		Type   string `json:"type"`
		User   string `json:"user"`
		Tab    string `json:"tab"`
		Tokens struct {
			Bot []string `json:"bot"`
		} `json:"tokens"`
	} `json:"event"`
}

// orgWide reports whether the event is for an org-wide install.
func (ev *eventEnvelope) orgWide() bool {
	return len(ev.Authorizations) > 0 && ev.Authorizations[0].IsEnterpriseInstall
}

// installation is the organization whose installation record the event
// is about: the enterprise's for an org-wide install, else the workspace's.
func (ev *eventEnvelope) installation() string {
	if ev.orgWide() && ev.EnterpriseID != "" {
		return orgPrefix + ev.EnterpriseID
	}
	return orgPrefix + ev.TeamID
}

// onEvent answers the Events API: the URL check when the app is set up,
// app_home_opened, which publishes the user's App Home, and
// app_uninstalled and tokens_revoked (of bot tokens), which delete the
// workspace's token.
func (a *Adapter) onEvent(ctx context.Context, raw []byte) reply {
	if r, ok := a.onMemberEvent(ctx, raw); ok {
		return r // members leaving and coming back (members.go)
	}
	var ev eventEnvelope
	if err := payload.Unmarshal(raw, &ev); err != nil {
		return bad("body is not JSON")
	}
	switch ev.Type {
	case "url_verification":
		return reply{body: map[string]string{"challenge": ev.Challenge}}
	case "event_callback":
	default:
		return bad("unknown event type")
	}
	switch ev.Event.Type {
	case "app_uninstalled":
		a.uninstalled(ctx, ev.installation(), ev.Event.Type)
		return ok200
	case "tokens_revoked":
		if len(ev.Event.Tokens.Bot) > 0 {
			a.uninstalled(ctx, ev.installation(), ev.Event.Type)
		}
		return ok200
	}
	if ev.Event.Type == "app_home_opened" && ev.TeamID != "" && ev.Event.User != "" && (ev.Event.Tab == "" || ev.Event.Tab == "home") {
		o := origin{team: ev.TeamID, user: ev.Event.User, enterprise: ev.EnterpriseID, orgWide: ev.orgWide(), byEnterprise: a.cfg.EnterpriseOrg}
		if !a.installed(ctx, o) {
			return ok200
		}
		a.background(ctx, func(ctx context.Context) {
			if err := a.publishHome(ctx, o, ev.EventID, homePages{}); err != nil {
				a.log.Error("publish home", "org", o.org(), "user", o.user, "err", err)
			}
		})
	}
	return ok200 // other events are not subscribed; acknowledged so that Slack does not retry
}

// homePages are the pages of the lists that the App Home shows, as the
// command lines that show them ("products page 2", "admin page 3"; empty:
// the first). The published view keeps them (private_metadata), so that a
// page button of one list leaves the other on its page.
type homePages struct {
	Products string `json:"products,omitempty"`
	Admin    string `json:"admin,omitempty"`
}

// homePage reads a page button clicked in the App Home: its line
// ("products page N" or "admin page N") and the view's pages so far. ok is
// false for any other button or view.
func homePage(viewType, metadata, line string) (pages homePages, ok bool) {
	if viewType != string(slackapi.VTHomeTab) {
		return pages, false
	}
	list, ok := pageLine(line)
	if !ok {
		return pages, false
	}
	var kept homePages
	_ = json.Unmarshal([]byte(metadata), &kept) // Slack gives back what the adapter published
	if l, ok := pageLine(kept.Products); ok && l == "products" {
		pages.Products = kept.Products
	}
	if l, ok := pageLine(kept.Admin); ok && l == "admin" {
		pages.Admin = kept.Admin
	}
	if list == "products" {
		pages.Products = line
	} else {
		pages.Admin = line
	}
	return pages, true
}

// pageLine reports whether line shows a page of a list of the App Home, and
// which ("products" or "admin").
func pageLine(line string) (list string, ok bool) {
	f := strings.Fields(line)
	if len(f) != 3 || f[1] != "page" || (f[0] != "products" && f[0] != "admin") {
		return "", false
	}
	if n, err := strconv.Atoi(f[2]); err != nil || n < 1 {
		return "", false
	}
	return f[0], true
}

// publishHome shows the user's products on the App Home tab, with buttons
// for the common actions, and admins the organization's overview, each on
// the page that pages asks for.
func (a *Adapter) publishHome(ctx context.Context, o origin, key string, pages homePages) error {
	req := a.request(ctx, o)
	req.Text, req.IdempotencyKey = nonBlank(pages.Products, "products"), key
	resp := a.handle(ctx, req)
	v := a.homeView(req, resp, func() commands.Response {
		r := req
		r.Text = nonBlank(pages.Admin, "admin")
		return a.handle(ctx, r)
	})
	if pages != (homePages{}) {
		meta, err := json.Marshal(pages)
		if err != nil {
			return err
		}
		v.PrivateMetadata = string(meta)
	}
	return slackErr("views.publish", a.call(ctx, o.org(), func(api *slackapi.Client) error {
		_, err := api.PublishViewContext(ctx, slackapi.PublishViewContextRequest{UserID: o.user, View: v})
		return err
	}))
}

// homeView renders the App Home: the common actions, the user's products
// and, for admins, the overview that admin() returns.
func (a *Adapter) homeView(req commands.Request, products commands.Response, admin func() commands.Response) slackapi.HomeTabViewRequest {
	lang := products.Lang
	t := func(id string) string { return a.bot.Text(lang, id) }
	home := []commands.Message{{Title: t("SlackHomeTitle"), Text: t("SlackHomeIntro"), Buttons: []commands.Button{
		{Label: t("BtnBuy"), Command: "buy", Style: commands.StylePrimary},
		{Label: t("BtnTrial"), Command: "trial"},
		{Label: t("BtnCatalog"), Command: "catalog"},
		{Label: t("BtnInvoices"), Command: "invoices"},
		{Label: t("BtnPayment"), Command: "payment"},
		{Label: t("SlackBtnHelp"), Command: "help"},
	}}}
	home = append(home, products.Messages...)
	if req.Admin {
		home = append(home, admin().Messages...)
	}
	var blocks []slackapi.Block
	for i, m := range home {
		mb := messageBlocks(m, i)
		if i > 0 {
			mb = append([]slackapi.Block{slackapi.NewDividerBlock()}, mb...)
		}
		if len(blocks)+len(mb) > maxViewBlocks-1 {
			blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(escape(t("SlackHomeMore")))))
			break
		}
		blocks = append(blocks, mb...)
	}
	return slackapi.HomeTabViewRequest{Type: slackapi.VTHomeTab, Blocks: slackapi.Blocks{BlockSet: blocks}}
}
