"""Unions of a hierarchy's finest cells at the cost of their outline, not of their area.

A credible region is the union of up to hundreds of finest cells, and an uncertain
model's 90 % region holds most of them.  Overlaying hundreds of densified polygons per
photo (``shapely.union_all``) costs a fifth of a second, more than the photo's decoding
and network together.  Merging complete sibling sets into their S2 parent polygon is not
an answer here: cells are densified great-circle arcs drawn as straight lon/lat segments,
so a parent's polygon and its four children's union differ by slivers, and the region
would change.

So the finest cells of a hierarchy are noded together once (``CellCoverage``): every cell
boundary split at every crossing and snapped to the regions' grid, then cut into faces
(the arrangement).  Each face knows the cells that cover it.  The union of a set of cells
is then the set of faces covered by at least one of them, and its outline is the face
edges with a selected face on one side only: found with array operations and chained into
rings (run by run: the stretches of edges between the arrangement's nodes), never
overlaid.  The answer is the very polygon ``union_all`` + ``set_precision``
gives (same area, a symmetric difference at the 1e-9 degree grid); arrangement vertices
that only the other cells put on the outline are dropped, so the rings carry the same
vertices and the geodesic area is the same too.  The cells are drawn as a partition
(``cell_geometry.partition_polygons``): neighbours of different levels share their
points, so there are no slivers between them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry import MultiPolygon

from ..modeling.cell_geometry import partition_polygons

SCALE = 1e9  # 1 / regions.GRID_DEG: snapped coordinates as integers
_ON_TOL = 3e-9  # a vertex within this (degrees) of a cell's outline lies on it


def _keys(xy: np.ndarray) -> np.ndarray:
    return np.rint(xy * SCALE).astype(np.int64)


def _csr(rows: np.ndarray, cols: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((cols, rows))
    counts = np.bincount(rows, minlength=n_rows)
    return np.concatenate([[0], np.cumsum(counts)]), cols[order]


def _any_count(indptr: np.ndarray, values: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Per row of a CSR array: how many of its values are members."""
    hits = member[values].astype(np.int32)
    sums = np.concatenate([[0], np.cumsum(hits)])
    return sums[indptr[1:]] - sums[indptr[:-1]]


class CellCoverage:
    """The arrangement of a set of cells (tokens); ``union(tokens)`` of any subset."""

    def __init__(self, tokens: Sequence[str], grid: float = 1.0 / SCALE):
        self.tokens = tuple(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        polys = list(partition_polygons(self.tokens))
        noded = shapely.union_all([p.boundary for p in polys])
        snapped = shapely.set_precision(noded, grid)
        faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(snapped)))
        self._faces_cover(polys, faces)
        self._half_edges(faces)
        self._vertex_owners(polys)
        self._runs_between_nodes()

    # ------------------------------------------------------------------ building

    def _faces_cover(self, polys, faces) -> None:
        inside = shapely.point_on_surface(faces)
        face_i, cell_i = shapely.STRtree(polys).query(inside, predicate="within")
        self.face_ptr, self.face_cells = _csr(face_i, cell_i, len(faces))

    def _half_edges(self, faces) -> None:
        """Half-edges (u -> v) with their face on the left: outer rings counter-clockwise,
        holes clockwise; vertices are the snapped coordinates, numbered."""
        rings, ring_face = [], []
        for f, face in enumerate(faces):
            for k, ring in enumerate([face.exterior, *face.interiors]):
                xy = shapely.get_coordinates(ring)[:-1]
                ccw = _signed_area(xy) > 0
                rings.append(xy if ccw == (k == 0) else xy[::-1])
                ring_face.append(f)
        sizes = np.array([len(r) for r in rings])
        allxy = np.concatenate(rings)
        keys, first, inverse = np.unique(_keys(allxy), axis=0, return_index=True,
                                         return_inverse=True)
        inverse = inverse.ravel()
        self.keys, self.xy = keys, allxy[first]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.ring_starts, self.ring_sizes = starts, sizes
        nxt = np.arange(len(allxy)) + 1
        nxt[starts + sizes - 1] = starts  # the last vertex of a ring goes back to its first
        self.he_u, self.he_v = inverse, inverse[nxt]
        self.he_next = nxt  # the following half-edge of the same ring
        self.he_face = np.repeat(ring_face, sizes)
        n_v = len(keys)
        code = self.he_u.astype(np.int64) * n_v + self.he_v
        twin_code = self.he_v.astype(np.int64) * n_v + self.he_u
        order = np.argsort(code)
        pos = np.searchsorted(code[order], twin_code)
        pos = np.minimum(pos, len(code) - 1)
        found = code[order][pos] == twin_code
        self.he_twin = np.where(found, order[pos], -1)

    def _vertex_owners(self, polys) -> None:
        """Per vertex: the cells that have it as a corner, and those whose outline passes
        through it.  The union of some cells keeps a vertex only where one of them has it
        as a corner or where two of them cross: the nodes other cells made are dropped."""
        rows, cols = [], []
        for c, poly in enumerate(polys):
            k = _keys(shapely.get_coordinates(poly))
            idx = self._lookup(k)
            idx = np.unique(idx[idx >= 0])
            rows.append(idx)
            cols.append(np.full(len(idx), c))
        self.corner_ptr, self.corner_cells = _csr(np.concatenate(rows), np.concatenate(cols),
                                                  len(self.keys))
        pts = shapely.points(self.xy)
        v_i, c_i = shapely.STRtree([p.boundary for p in polys]).query(
            pts, predicate="dwithin", distance=_ON_TOL)
        self.on_ptr, self.on_cells = _csr(v_i, c_i, len(self.keys))

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        """Vertex numbers of integer coordinates (-1 where not a vertex)."""
        view = self.keys.view([("x", np.int64), ("y", np.int64)]).ravel()
        q = np.ascontiguousarray(keys).view([("x", np.int64), ("y", np.int64)]).ravel()
        pos = np.minimum(np.searchsorted(view, q), len(view) - 1)
        return np.where(view[pos] == q, pos, -1)

    def _runs_between_nodes(self, every_half_edge: bool = False) -> None:
        """The half-edges cut into runs: each run follows its face's ring from a node (a
        vertex where other than two edges meet) to the next, so it has the same face on
        its left and the same on its right all along, and an outline takes a run whole
        or not at all.  A region's rings are chained run by run (a region of the
        default model: ~150 runs instead of ~5,000 half-edges) and the runs' half-edges
        laid out after.  Runs are numbered in the order of their smallest half-edge, so
        that chaining runs finds the rings in the order, and from the half-edge, that
        chaining half-edges did (the outlines are the same arrays).  A ring without a
        node is one run from its first half-edge.  ``every_half_edge``: each half-edge a
        run of its own (chaining half-edges one by one: the tests' reference)."""
        n_v, n_he = len(self.keys), len(self.he_u)
        lo = np.minimum(self.he_u, self.he_v).astype(np.int64)
        hi = np.maximum(self.he_u, self.he_v).astype(np.int64)
        edges = np.unique(lo * n_v + hi)
        degree = np.bincount(np.r_[edges // n_v, edges % n_v], minlength=n_v)
        right = np.where(self.he_twin >= 0, self.he_face[np.maximum(self.he_twin, 0)], -1)
        begins = degree[self.he_u] != 2
        starts, sizes = self.ring_starts, self.ring_sizes
        pos = np.arange(n_he)
        first = np.minimum.reduceat(np.where(begins, pos, n_he), starts)
        nodeless = first == n_he
        first[nodeless] = starts[nodeless]
        begins[first] = True
        # each ring walked from its first run's start (its half-edges are stored in
        # walking order, the last one followed by the first)
        ring_of = np.repeat(np.arange(len(starts)), sizes)
        walk = starts[ring_of] + (first[ring_of] - starts[ring_of] + pos - starts[ring_of]) \
            % sizes[ring_of]
        if every_half_edge or not (right[walk] == right[walk][np.maximum.accumulate(
                np.where(begins[walk], pos, 0))]).all():  # (never seen: to be safe)
            begins[:] = True
            walk = pos
        ptr = np.r_[np.flatnonzero(begins[walk]), n_he]
        smallest = np.minimum.reduceat(walk, ptr[:-1])
        lengths = np.diff(ptr)
        order = np.argsort(smallest)
        new_ptr = np.r_[0, np.cumsum(lengths[order])]
        walk = walk[np.repeat(ptr[:-1][order] - new_ptr[:-1], lengths[order]) + pos]
        self.run_ptr, self.run_he = new_ptr, walk
        head, tail = walk[new_ptr[:-1]], walk[new_ptr[1:] - 1]
        self.run_face, self.run_right = self.he_face[head], right[head]
        self.run_u, self.run_v = self.he_u[head], self.he_v[tail]
        self.run_after_u, self.run_before_v = self.he_v[head], self.he_u[tail]
        is_smallest = walk == np.repeat(smallest[order], lengths[order])
        self.run_smallest_at = np.flatnonzero(is_smallest) - new_ptr[:-1]

    # ------------------------------------------------------------------- queries

    def union(self, tokens: Sequence[str]) -> MultiPolygon:
        """The union of these cells (all of them known) on the snapping grid."""
        return self.union_of(np.array([self.index[t] for t in tokens], np.int64))

    def union_of(self, cells: np.ndarray) -> MultiPolygon:
        """The union of the cells at these positions of ``tokens``."""
        member = np.zeros(len(self.tokens), bool)
        member[cells] = True
        selected = _any_count(self.face_ptr, self.face_cells, member) > 0
        right = self.run_right
        outline = selected[self.run_face] & ~((right >= 0) & selected[np.maximum(right, 0)])
        runs = np.flatnonzero(outline)
        if len(runs) == 0:
            return MultiPolygon()
        keep = ((_any_count(self.corner_ptr, self.corner_cells, member) > 0)
                | (_any_count(self.on_ptr, self.on_cells, member) >= 2))
        order, ring = _cycles(self._successors(runs))
        runs = runs[order]
        # a ring passes a vertex twice only where runs meet: found among the runs' starts
        twice = _repeated(ring.astype(np.int64) * len(self.keys) + self.run_u[runs])
        verts, ring = self._laid_out(runs, ring)
        verts, ring = _split_touching(verts, ring, np.unique(twice // len(self.keys)))
        ok = keep[verts]
        verts, ring = verts[ok], ring[ok]
        ok = np.bincount(ring)[ring] >= 3
        return self._polygons(verts[ok], np.unique(ring[ok], return_inverse=True)[1].ravel())

    def _laid_out(self, runs: np.ndarray, ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chained runs (ring numbers in runs) as the vertices of their half-edges, each
        ring starting at its smallest half-edge (in its first run)."""
        lengths = np.diff(self.run_ptr)[runs]
        total = int(lengths.sum())
        ends = np.cumsum(lengths)
        at = np.repeat(self.run_ptr[runs] - (ends - lengths), lengths) + np.arange(total)
        ring = np.repeat(ring, lengths)
        heads = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
        sizes = np.diff(np.r_[heads, total])
        shift = self.run_smallest_at[runs[np.searchsorted(ends, heads, side="right")]]
        base, size = np.repeat(heads, sizes), np.repeat(sizes, sizes)
        rolled = base + (np.arange(total) - base + np.repeat(shift, sizes)) % size
        return self.he_u[self.run_he[at[rolled]]], ring

    def _successors(self, runs: np.ndarray) -> np.ndarray:
        """For each outline run (positions in ``runs``) the one that follows it.  Where
        the outline touches itself, the tightest clockwise turn: the region's parts
        meeting at a point are walked one at a time."""
        u, v = self.run_u[runs], self.run_v[runs]
        order = np.argsort(u, kind="stable")
        n_out = np.bincount(u, minlength=len(self.keys))
        offset = np.concatenate([[0], np.cumsum(n_out)])
        succ = order[offset[v]]
        pinch = np.flatnonzero(n_out[v] > 1)
        if len(pinch):
            many = n_out[v[pinch]]
            group = np.repeat(np.arange(len(pinch)), many)
            within = np.arange(len(group)) - np.repeat(np.cumsum(many) - many, many)
            options = order[offset[v[pinch]][group] + within]
            here = self.xy[v[pinch]][group]
            back = self.xy[self.run_before_v[runs][pinch]][group] - here
            out = self.xy[self.run_after_u[runs][options]] - here
            turn = (np.arctan2(back[:, 1], back[:, 0])
                    - np.arctan2(out[:, 1], out[:, 0])) % (2 * math.pi)
            turn[turn == 0] = 2 * math.pi
            first = np.lexsort((turn, group))
            first = first[np.r_[True, group[first][1:] != group[first][:-1]]]
            succ[pinch] = options[first]
        return succ

    def _polygons(self, verts: np.ndarray, ring: np.ndarray) -> MultiPolygon:
        """Rings (vertex numbers, ring numbers 0.. in runs) as polygons: counter-clockwise
        rings are shells, clockwise ones holes of the smallest shell around them."""
        if len(verts) == 0:
            return MultiPolygon()
        xy = self.xy[verts]
        starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
        area = _ring_areas(xy, starts)
        rings = shapely.linearrings(xy, indices=ring)
        shells = np.flatnonzero(area > 0)
        holes = np.flatnonzero(area < 0)
        if len(shells) == 1:
            owner = np.zeros(len(holes), int)
        else:
            owner = self._hole_owners(xy, starts, rings, shells, holes, area)
        poly_of = np.full(len(area), -1)
        poly_of[shells] = np.arange(len(shells))
        poly_of[holes] = owner
        # per polygon its shell first, then its holes
        ids = np.flatnonzero(poly_of >= 0)
        ids = ids[np.lexsort((ids, area[ids] < 0, poly_of[ids]))]
        return shapely.multipolygons(shapely.polygons(rings[ids], indices=poly_of[ids]))

    @staticmethod
    def _hole_owners(xy, starts, rings, shells, holes, area) -> np.ndarray:
        """Each hole in the smallest shell that covers it: tested at the middle of its
        first edge, which is inside its shell and off every other ring.  All holes
        against all shells whose box holds them, in one vectorised test (a loop over
        shells cost ~2 ms per region, measured)."""
        owner = np.full(len(holes), -1)
        if len(holes) == 0 or len(shells) == 0:
            return owner
        probe = (xy[starts[holes]] + xy[starts[holes] + 1]) / 2
        polys = shapely.polygons(rings[shells])
        lo = np.minimum.reduceat(xy, starts, axis=0)[shells]
        hi = np.maximum.reduceat(xy, starts, axis=0)[shells]
        near = ((probe[:, None, :] >= lo[None]) & (probe[:, None, :] <= hi[None])).all(-1)
        hole_i, shell_k = np.nonzero(near)
        inside = shapely.contains_xy(polys[shell_k], probe[hole_i, 0], probe[hole_i, 1])
        hole_i, shell_k = hole_i[inside], shell_k[inside]
        first = np.lexsort((area[shells][shell_k], hole_i))
        keep = first[np.r_[True, hole_i[first][1:] != hole_i[first][:-1]]] \
            if len(first) else first
        owner[hole_i[keep]] = shell_k[keep]
        return owner


def _runs(labels: np.ndarray) -> np.ndarray:
    """0, 0, 1, 1, 1, 2 ... for each run of equal labels."""
    return np.cumsum(np.r_[False, labels[1:] != labels[:-1]])


def _ring_areas(xy: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Signed (shoelace) area of each ring; coordinates taken relative to the ring's
    first vertex, so a sliver's tiny area does not drown in rounding."""
    sizes = np.diff(np.r_[starts, len(xy)])
    rel = xy - np.repeat(xy[starts], sizes, axis=0)
    nxt = np.arange(len(xy)) + 1
    nxt[starts + sizes - 1] = starts
    cross = rel[:, 0] * rel[nxt, 1] - rel[nxt, 0] * rel[:, 1]
    return 0.5 * np.add.reduceat(cross, starts)


def _cycles(succ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cycles of a permutation, each in walking order from its smallest element, and
    the cycle number of each
    (pointer doubling: a few array passes instead of a Python step per edge)."""
    n = len(succ)
    head, jump = np.arange(n), succ.copy()
    for _ in range(max(1, int(n).bit_length())):
        head = np.minimum(head, head[jump])
        jump = jump[jump]
    pred = np.empty(n, int)
    pred[succ] = np.arange(n)
    link = succ.copy()
    link[pred[np.flatnonzero(head == np.arange(n))]] = -1  # cut each cycle before its head
    left = (link >= 0).astype(np.int64)  # steps to the cycle's end
    jump = link.copy()
    for _ in range(max(1, int(n).bit_length())):
        ok = jump >= 0
        left[ok] += left[jump[ok]]
        jump[ok] = jump[jump[ok]]
    order = np.lexsort((-left, head))
    return order, _runs(head[order])


def _repeated(keys: np.ndarray) -> np.ndarray:
    """The values that occur more than once."""
    uniq, counts = np.unique(keys, return_counts=True)
    return uniq[counts > 1]


def _split_touching(verts: np.ndarray, ring: np.ndarray, bad: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Closed walks (``ring`` numbers in runs) that pass a vertex twice (a hole touching
    its shell: the rings ``bad``) split there into simple rings, the split ones numbered
    after the others."""
    if len(bad) == 0:
        return verts, ring
    is_bad = np.zeros(int(ring[-1]) + 1, bool)
    is_bad[bad] = True
    split = is_bad[ring]
    out_v, out_r = [verts[~split]], [ring[~split]]
    starts = np.searchsorted(ring, bad)
    ends = np.searchsorted(ring, bad, side="right")
    label = int(ring[-1]) + 1
    for a, b in zip(starts.tolist(), ends.tolist()):
        for part in _simple_parts(verts[a:b]):
            out_v.append(part)
            out_r.append(np.full(len(part), label))
            label += 1
    return np.concatenate(out_v), np.concatenate(out_r)


def _simple_parts(verts: np.ndarray) -> list[np.ndarray]:
    """Split a closed walk at its repeated vertices (the stack walk of the vertex
    sequence, done block by block between repeats)."""
    cuts = np.flatnonzero(np.bincount(verts)[verts] > 1)
    cuts = np.unique(np.r_[0, cuts, len(verts)])
    parts: list[np.ndarray] = []
    stack: list[np.ndarray] = []
    at: dict[int, int] = {}
    for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        block = verts[a:b]
        w = int(block[0])
        if w in at:
            i = at[w]
            parts.append(np.concatenate(stack[i:]))
            for old in stack[i + 1:]:
                at.pop(int(old[0]), None)
            del stack[i:]
        at[w] = len(stack)
        stack.append(block)
    parts.append(np.concatenate(stack))
    return parts


def _signed_area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


@lru_cache(maxsize=4)
def coverage_for(tokens: tuple[str, ...]) -> CellCoverage:
    """One arrangement per set of finest cells (a bundle), built on first use."""
    return CellCoverage(tokens)
