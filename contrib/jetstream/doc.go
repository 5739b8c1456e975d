// Package pooljs feeds poolgen pools from NATS JetStream, so that the tasks
// of a fleet of processes live in a durable, replicated queue and survive
// the crash of any of them.
//
// A [Publisher] publishes tasks with a message ID (deduplicated by the
// stream). A [Source] pulls them from a durable consumer that any number
// of Sources share, decodes each with a [Codec] ([JSON] by default,
// [Msgp] for Go producers), submits it to a pool with SubmitWait and
// settles the message by the task's outcome:
//
//	success                                           ack
//	retryable error, deliveries left                  nak with backoff (exponential, jittered)
//	permanent error (ErrPermanent, poolrt.Permanent)  dead letter, term
//	retryable error on the last delivery              dead letter, term
//	delivered more than MaxDeliveries times           dead letter, term (not run)
//	undecodable body                                  dead letter with the raw body, term
//	pool closed, or Source draining                   nak at once (another consumer takes it)
//
// A message held longer than half the ack wait gets in-progress
// heartbeats. A Source fetches no more than the pool's free queue slots
// and idle workers, in batches of at most Config.MaxBatch, so backpressure
// reaches the stream: messages wait there, not in a buffer.
//
// [StreamConfig], [ConsumerConfig] and [DeadLetterStreamConfig] return the
// settings that docs/FLEET.md explains. The package's module is separate
// from poolgen's, so that the core gains no dependency.
package pooljs
