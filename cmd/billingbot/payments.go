package main

import (
	"errors"

	"github.com/billingbot/billingbot/commands/payment"
)

// errNoPayments is serve's refusal to start without a payment provider.
var errNoPayments = errors.New("no payment provider is configured: set BILLINGBOT_PAYMENTS=stripe with STRIPE_SECRET_KEY and " +
	"STRIPE_WEBHOOK_SECRET, or BILLINGBOT_PAYMENTS=sandbox to run without real money (every page, confirmation and invoice then says so)")

// provider makes the payment provider the configuration chooses. serve
// needs one chosen: the sandbox takes no money, so nobody should sell with
// it by accident. The console uses the sandbox unless told otherwise.
func (c config) provider(serve bool) (payment.Provider, error) {
	switch c.Payments {
	case "stripe":
		return payment.NewStripe(payment.StripeConfig{SecretKey: c.Stripe.SecretKey,
			WebhookSecret: c.Stripe.WebhookSecret, APIURL: c.Stripe.APIURL})
	case "sandbox":
		return payment.NewSandbox(), nil
	}
	if serve {
		return nil, errNoPayments
	}
	return payment.NewSandbox(), nil
}
