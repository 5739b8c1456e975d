package pooljs

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// Codec turns a task into a message body and back. A Source decodes every
// message it fetches with its Codec; a Publisher encodes with the same
// one. Implementations must be safe for concurrent use.
type Codec[T any] interface {
	// Append appends the encoding of t to dst and returns the result.
	Append(dst []byte, t T) ([]byte, error)
	// Decode sets *t from data, a complete message body. *t is T's zero
	// value when Decode is called. An error sends the message, raw, to the
	// dead-letter subject.
	Decode(data []byte, t *T) error
}

// JSON returns the default codec: encoding/json, so that a producer in any
// language can feed a pool. Decode rejects a body that holds more than one
// JSON value.
func JSON[T any]() Codec[T] { return jsonCodec[T]{} }

type jsonCodec[T any] struct{}

func (jsonCodec[T]) Append(dst []byte, t T) ([]byte, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return dst, fmt.Errorf("poolgen: jetstream: encode: %w", err)
	}
	return append(dst, b...), nil
}

func (jsonCodec[T]) Decode(data []byte, t *T) error {
	if err := json.Unmarshal(data, t); err != nil {
		return fmt.Errorf("poolgen: jetstream: decode: %w", err)
	}
	return nil
}

// Msgp returns a binary codec for task types with the methods that
// github.com/tinylib/msgp generates (run msgp's own go:generate line on
// the type: MarshalMsg and UnmarshalMsg, on T or *T). It is several times
// faster than JSON and allocates less, for producers written in Go (or in
// any language with a MessagePack library and the same field names).
// Decode rejects trailing bytes after the value.
//
//	//go:generate go run github.com/tinylib/msgp@v1.6.5 -tests=false
//	type Job struct { ... }
//
//	codec := pooljs.Msgp[Job]()
func Msgp[T any, PT msgpPointer[T]]() Codec[T] {
	return msgpCodec[T, PT]{}
}

// msgpPointer is *T with msgp's methods.
type msgpPointer[T any] interface {
	*T
	msgp.Marshaler
	msgp.Unmarshaler
}

type msgpCodec[T any, PT msgpPointer[T]] struct{}

func (msgpCodec[T, PT]) Append(dst []byte, t T) ([]byte, error) {
	b, err := PT(&t).MarshalMsg(dst)
	if err != nil {
		return dst, fmt.Errorf("poolgen: jetstream: encode: %w", err)
	}
	return b, nil
}

// errTrailing reports bytes after a complete MessagePack value.
var errTrailing = errors.New("trailing bytes after the value")

func (msgpCodec[T, PT]) Decode(data []byte, t *T) error {
	rest, err := PT(t).UnmarshalMsg(data)
	if err == nil && len(rest) != 0 {
		err = errTrailing
	}
	if err != nil {
		return fmt.Errorf("poolgen: jetstream: decode: %w", err)
	}
	return nil
}
