package conformance_test

import (
	"testing"

	"github.com/poolgen/poolgen/generated"
	"github.com/poolgen/poolgen/internal/conformance"
	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// classProbe is a generated.Probe that the generic router routes by Lane.
type classProbe struct{ generated.Probe }

func (p classProbe) Class() int { return p.Lane }

// classProbePtr is classProbe held by pointer.
type classProbePtr struct{ generated.ProbePtr }

func (p *classProbePtr) Class() int { return p.Lane }

// newRouter builds a router of classes fixed pools with newRoute, which
// makes one route of the flavor at hand; it stops the pools it built if
// one fails.
func newRouter[R any, P interface{ ShutdownNow() []T }, T any](classes int, opts []poolrt.Option,
	newPool func(...poolrt.Option) (P, error), route func(class int, pool P) R, build func([]R) (conformance.Pool[T], error)) (conformance.Pool[T], error) {
	var routes []R
	var pools []P
	for c := range classes {
		p, err := newPool(opts...)
		if err != nil {
			for _, q := range pools {
				q.ShutdownNow()
			}
			return nil, err
		}
		pools = append(pools, p)
		routes = append(routes, route(c, p))
	}
	return build(routes)
}

var routerImpls = []conformance.RouterImpl[classProbe]{{
	Name: "templates.Router",
	New: func(classes int, opts ...poolrt.Option) (conformance.Pool[classProbe], error) {
		return newRouter(classes, opts, templates.NewFixedPool[classProbe],
			func(c int, p *templates.FixedPool[classProbe]) templates.RouterClass[classProbe, int] {
				return templates.RouterClass[classProbe, int]{Class: c, Pool: p}
			},
			func(rs []templates.RouterClass[classProbe, int]) (conformance.Pool[classProbe], error) {
				r, err := templates.NewRouter(rs)
				if err != nil {
					return nil, err
				}
				return r, nil
			})
	},
	Task: func(ctl *probe.Control, id, class int) classProbe {
		return classProbe{generated.Probe{ID: id, Ctl: ctl, Lane: class}}
	},
	ID: func(p classProbe) int { return p.ID },
}}

var routerPtrImpls = []conformance.RouterImpl[*classProbePtr]{{
	Name: "templates.Router-pointer",
	New: func(classes int, opts ...poolrt.Option) (conformance.Pool[*classProbePtr], error) {
		return newRouter(classes, opts, templates.NewFixedPool[*classProbePtr],
			func(c int, p *templates.FixedPool[*classProbePtr]) templates.RouterClass[*classProbePtr, int] {
				return templates.RouterClass[*classProbePtr, int]{Class: c, Pool: p}
			},
			func(rs []templates.RouterClass[*classProbePtr, int]) (conformance.Pool[*classProbePtr], error) {
				r, err := templates.NewRouter(rs)
				if err != nil {
					return nil, err
				}
				return r, nil
			})
	},
	Task: func(ctl *probe.Control, id, class int) *classProbePtr {
		return &classProbePtr{generated.ProbePtr{ID: id, Ctl: ctl, Lane: class}}
	},
	ID: func(p *classProbePtr) int { return p.ID },
}}

var generatedRouterImpl = conformance.RouterImpl[generated.Probe]{
	Name: "generated.ProbeRouter",
	New: func(classes int, opts ...poolrt.Option) (conformance.Pool[generated.Probe], error) {
		return newRouter(classes, opts, generated.NewProbeFixedPool,
			func(c int, p *generated.ProbeFixedPool) generated.ProbeRouterClass {
				return generated.ProbeRouterClass{Class: c, Pool: p}
			},
			func(rs []generated.ProbeRouterClass) (conformance.Pool[generated.Probe], error) {
				r, err := generated.NewProbeRouter(rs)
				if err != nil {
					return nil, err
				}
				return r, nil
			})
	},
	Task: func(ctl *probe.Control, id, class int) generated.Probe {
		return generated.Probe{ID: id, Ctl: ctl, Lane: class}
	},
	ID: func(p generated.Probe) int { return p.ID },
}

var generatedRouterPtrImpl = conformance.RouterImpl[*generated.ProbePtr]{
	Name: "generated.ProbePtrRouter",
	New: func(classes int, opts ...poolrt.Option) (conformance.Pool[*generated.ProbePtr], error) {
		return newRouter(classes, opts, generated.NewProbePtrFixedPool,
			func(c int, p *generated.ProbePtrFixedPool) generated.ProbePtrRouterClass {
				return generated.ProbePtrRouterClass{Class: c, Pool: p}
			},
			func(rs []generated.ProbePtrRouterClass) (conformance.Pool[*generated.ProbePtr], error) {
				r, err := generated.NewProbePtrRouter(rs)
				if err != nil {
					return nil, err
				}
				return r, nil
			})
	},
	Task: func(ctl *probe.Control, id, class int) *generated.ProbePtr {
		return &generated.ProbePtr{ID: id, Ctl: ctl, Lane: class}
	},
	ID: func(p *generated.ProbePtr) int { return p.ID },
}

// TestRouter runs the router suite over both flavors of router, and the
// general suite over each as a router of one class.
func TestRouter(t *testing.T) {
	for _, impl := range routerImpls {
		conformance.RunRouter(t, impl)
		conformance.Run(t, impl.Impl())
	}
	for _, impl := range routerPtrImpls {
		conformance.RunRouter(t, impl)
		conformance.Run(t, impl.Impl())
	}
	conformance.RunRouter(t, generatedRouterImpl)
	conformance.Run(t, generatedRouterImpl.Impl())
	conformance.RunRouter(t, generatedRouterPtrImpl)
	conformance.Run(t, generatedRouterPtrImpl.Impl())
}
