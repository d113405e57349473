// Package push is the result push (审批结果推送): webhook subscriptions, the delivery of the
// certificate outbox to them (signed, in order, at least once, with back-off), the delivery log
// and redelivery, and the address rule that keeps webhooks off the service's own network.
//
// Package certs writes an outbox event in the transaction of every issue and status change and
// calls its Notify hook after the commit; the Pusher (set as that hook with Wake) reads the
// outbox after the commit and delivers it. certs itself imports no network package.
package push
