// Package batch is group commit for the workers in jobs/: many goroutines
// hand in items (the outcome of a delivery, of a webhook attempt), and one
// goroutine writes whatever was handed in while its previous write ran, in
// one go. With SQLite's single writer and a synchronous commit, that turns
// an fsync per item into an fsync per batch, which is what lets the
// workers' throughput grow with their number.
package batch

// Committer writes the items handed to Submit in batches. Create it with
// Start and end it with Stop.
type Committer[T any] struct {
	write    func([]T)
	maxBatch int
	in       chan pending[T]
	quit     chan struct{}
	done     chan struct{}
}

type pending[T any] struct {
	item T
	then func(T)
}

// Start runs a Committer that calls write with up to maxBatch items at a
// time, and lets up to queued items wait before Submit blocks. write
// reports the outcome of each item in the item itself (a pointer type),
// for the callbacks to read.
func Start[T any](maxBatch, queued int, write func(batch []T)) *Committer[T] {
	c := &Committer[T]{
		write:    write,
		maxBatch: max(maxBatch, 1),
		in:       make(chan pending[T], max(queued, 0)),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go c.run()
	return c
}

// Submit hands item in; then, if not nil, is called with it once it is
// written, from the Committer's goroutine, so it must not block for long.
// Submit blocks only when queued items are already waiting.
func (c *Committer[T]) Submit(item T, then func(T)) {
	c.in <- pending[T]{item: item, then: then}
}

// Stop writes what was handed in before it and ends the Committer. Call
// it once nobody calls Submit any more.
func (c *Committer[T]) Stop() {
	close(c.quit)
	<-c.done
}

func (c *Committer[T]) run() {
	defer close(c.done)
	for {
		var batch []pending[T]
		select {
		case p := <-c.in:
			batch = append(batch, p)
		case <-c.quit:
			select {
			case p := <-c.in: // handed in before Stop
				batch = append(batch, p)
			default:
				return
			}
		}
	fill:
		for len(batch) < c.maxBatch {
			select {
			case p := <-c.in:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		items := make([]T, len(batch))
		for i, p := range batch {
			items[i] = p.item
		}
		c.write(items)
		for _, p := range batch {
			if p.then != nil {
				p.then(p.item)
			}
		}
	}
}
