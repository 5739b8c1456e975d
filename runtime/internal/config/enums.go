package config

import "fmt"

// Backpressure is poolrt.Backpressure.
type Backpressure uint8

func (b Backpressure) String() string {
	switch b {
	case Block:
		return "Block"
	case Reject:
		return "Reject"
	case CallerRuns:
		return "CallerRuns"
	}
	return fmt.Sprintf("Backpressure(%d)", uint8(b))
}

// RankKind is poolrt.RankKind.
type RankKind uint8

func (k RankKind) String() string {
	switch k {
	case ByPriority:
		return "priority"
	case ByDeadline:
		return "deadline"
	case ByCost:
		return "cost"
	}
	return fmt.Sprintf("RankKind(%d)", uint8(k))
}

// LatePolicy is poolrt.LatePolicy.
type LatePolicy uint8

func (p LatePolicy) String() string {
	switch p {
	case RunLate:
		return "RunLate"
	case DropLate:
		return "DropLate"
	}
	return fmt.Sprintf("LatePolicy(%d)", uint8(p))
}

// The values of the enumerations; package poolrt re-exports them with
// their documentation.
const (
	Block Backpressure = iota
	Reject
	CallerRuns
)

const (
	ByPriority RankKind = iota
	ByDeadline
	ByCost
)

const (
	RunLate LatePolicy = iota
	DropLate
)
