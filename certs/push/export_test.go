package push

import "time"

// OnPass makes Run call f after every dispatch pass with the time the pass read from the clock
// and the earliest time a subscription waiting out its back-off may be retried (zero when none
// waits). f must not block.
func (p *Pusher) OnPass(f func(now, next time.Time)) {
	p.mu.Lock()
	p.onPass = f
	p.mu.Unlock()
}
