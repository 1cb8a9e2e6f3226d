package btflimit

import "fmt"

// check refuses impossible cycles and reference chains deeper than lim.
//
// The decoder's recursion depth depends on which types were inflated before,
// so it is bounded from above in an order-independent way: condense the
// graph into strongly connected components (a DFS can walk every member of
// a component before leaving it) and take the heaviest path through the
// resulting DAG, each component weighing its size.
func (g *graph) check(lim Limits) (deepest int, err error) {
	// A cycle that avoids pointers is a typedef naming itself or a struct
	// containing itself by value: no compiler emits one.
	var cycle []int
	g.components(false, func(members []int, _ []int32) bool {
		if len(members) > 1 || g.selfLoop(members[0]) {
			cycle = members
			return false
		}
		return true
	})
	if cycle != nil {
		return 0, fmt.Errorf("%w: type %d refers back to itself without a pointer (%d types in the cycle)", ErrCycle, cycle[0], len(cycle))
	}

	depth := make([]int, 0, g.n) // per component, in emission order
	var tooDeep error
	g.components(true, func(members []int, comp []int32) bool {
		this := int32(len(depth))
		below := 0
		for _, id := range members {
			for _, e := range g.out(id) {
				if e.to == 0 || int(e.to) > g.n {
					continue
				}
				if c := comp[e.to]; c != this && depth[c] > below {
					below = depth[c]
				}
			}
		}
		d := len(members) + below
		depth = append(depth, d)
		if d > deepest {
			deepest = d
		}
		if d > lim.MaxDepth {
			tooDeep = fmt.Errorf("%w: a chain of up to %d references from type %d (limit %d)", ErrTooDeep, d, members[0], lim.MaxDepth)
			return false
		}
		return true
	})
	return deepest, tooDeep
}

func (g *graph) selfLoop(id int) bool {
	for _, e := range g.out(id) {
		if int(e.to) == id && !e.viaPointer {
			return true
		}
	}
	return false
}

// components runs Tarjan's algorithm iteratively (the point of this package
// is not to recurse once per type) over IDs 1..n, following pointer edges
// only when withPointers is set. Each component is passed to emit in reverse
// topological order, with comp mapping every ID emitted so far to its
// component's index; emit returns false to stop.
func (g *graph) components(withPointers bool, emit func(members []int, comp []int32) bool) {
	const unvisited = -1
	index := make([]int32, g.n+1)
	low := make([]int32, g.n+1)
	comp := make([]int32, g.n+1)
	onStack := make([]bool, g.n+1)
	for i := range index {
		index[i], comp[i] = unvisited, unvisited
	}
	var (
		next    int32
		ncomp   int32
		stack   []int
		members []int
	)
	type frame struct{ id, edge int }
	var calls []frame
	follow := func(e edge) bool {
		return e.to != 0 && int(e.to) <= g.n && (withPointers || !e.viaPointer)
	}
	for root := 1; root <= g.n; root++ {
		if index[root] != unvisited {
			continue
		}
		calls = append(calls[:0], frame{root, 0})
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			out := g.out(f.id)
			if f.edge < len(out) {
				e := out[f.edge]
				f.edge++
				if !follow(e) {
					continue
				}
				w := int(e.to)
				switch {
				case index[w] == unvisited:
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					calls = append(calls, frame{w, 0})
				case onStack[w] && index[w] < low[f.id]:
					low[f.id] = index[w]
				}
				continue
			}
			v := f.id
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				if p := calls[len(calls)-1].id; low[v] < low[p] {
					low[p] = low[v]
				}
			}
			if low[v] != index[v] {
				continue
			}
			members = members[:0]
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp[w] = ncomp
				members = append(members, w)
				if w == v {
					break
				}
			}
			ncomp++
			if !emit(members, comp) {
				return
			}
		}
	}
}
