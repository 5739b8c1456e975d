package pooljs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A Publisher publishes tasks of type T to a subject of a stream, each
// with a message ID (the Nats-Msg-Id header): the stream stores a message
// once however often it is published with the same ID within its
// duplicate window, so a producer that did not get an acknowledgement (a
// timeout, a reconnect, its own restart) can publish again safely.
// A Publisher is safe for concurrent use.
type Publisher[T any] struct {
	js      jetstream.JetStream
	subject string
	codec   Codec[T]
}

// NewPublisher returns a Publisher of tasks to subject through js, encoded
// with codec (nil: JSON[T]()).
func NewPublisher[T any](js jetstream.JetStream, subject string, codec Codec[T]) *Publisher[T] {
	if codec == nil {
		codec = JSON[T]()
	}
	return &Publisher[T]{js: js, subject: subject, codec: codec}
}

// errNoID reports a publish without a message ID.
var errNoID = errors.New("poolgen: jetstream: publish needs a message ID")

// msg encodes t into a message with the ID id.
func (p *Publisher[T]) msg(id string, t T) (*nats.Msg, error) {
	if id == "" {
		return nil, errNoID
	}
	data, err := p.codec.Append(nil, t)
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(p.subject)
	m.Data = data
	return m, nil
}

// Publish publishes t with the message ID id (required: an ID the task
// keeps, such as its order number, so that publishing it twice stores it
// once) and waits for the stream's acknowledgement. PubAck.Duplicate tells
// a message the stream already had.
func (p *Publisher[T]) Publish(ctx context.Context, id string, t T) (*jetstream.PubAck, error) {
	m, err := p.msg(id, t)
	if err != nil {
		return nil, err
	}
	ack, err := p.js.PublishMsg(ctx, m, jetstream.WithMsgID(id))
	if err != nil {
		return nil, fmt.Errorf("poolgen: jetstream: publish %q: %w", id, err)
	}
	return ack, nil
}

// PublishAsync publishes t with the message ID id without waiting for the
// acknowledgement, which the returned future delivers; JetStream's
// PublishAsyncComplete waits for all of them. It is the fast path for a
// producer of many tasks.
func (p *Publisher[T]) PublishAsync(id string, t T) (jetstream.PubAckFuture, error) {
	m, err := p.msg(id, t)
	if err != nil {
		return nil, err
	}
	f, err := p.js.PublishMsgAsync(m, jetstream.WithMsgID(id))
	if err != nil {
		return nil, fmt.Errorf("poolgen: jetstream: publish %q: %w", id, err)
	}
	return f, nil
}

// StreamConfig returns the configuration of a stream of tasks, as
// docs/FLEET.md explains: work-queue retention (a message is deleted once
// acknowledged, and each is handed to one consumer), file storage, a
// two-minute duplicate window for message IDs, one replica (set Replicas
// to 3 on a cluster).
func StreamConfig(name string, subjects ...string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   subjects,
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: 2 * time.Minute,
		Replicas:   1,
	}
}

// DeadLetterStreamConfig returns the configuration of a stream that keeps
// dead letters for people to inspect and replay: limits retention, file
// storage, kept for 30 days.
func DeadLetterStreamConfig(name string, subjects ...string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   subjects,
		Retention:  jetstream.LimitsPolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: 2 * time.Minute,
		MaxAge:     30 * 24 * time.Hour,
		Replicas:   1,
	}
}

// ConsumerConfig returns the configuration of a durable pull consumer
// that Sources share, as docs/FLEET.md explains: explicit
// acknowledgements, the given ack wait, unlimited MaxDeliver (the Source
// counts deliveries), and at most 1024 messages unacknowledged across all
// its Sources.
func ConsumerConfig(durable string, ackWait time.Duration) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		MaxAckPending: 1024,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}
