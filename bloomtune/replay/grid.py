"""The grid a table is tabulated on: every configuration of the search space, categorical and
fixed dimensions at all their values and int and float ranges at the values `tabulate.grid`
lists; a conditional dimension only where it is active. A replayed search's suggestions are
snapped to the nearest grid point (on a log scale for a log range), so every optimiser searches
the same space it searches live, and is handed the nearest configuration the table holds."""

from __future__ import annotations

import math

from bloomtune.errors import ParamsError
from bloomtune.space import SearchSpace


def values_of(dim, grid: dict) -> list:
    """The grid values of one dimension."""
    if dim.choices is not None:  # categorical or fixed
        return list(dim.choices)
    if dim.name not in grid:
        raise ParamsError(
            f"tabulate.grid.{dim.name}: the {dim.name} range needs the values to tabulate it at"
        )
    values = [float(v) if isinstance(dim.low, float) else int(v) for v in grid[dim.name]]
    outside = [v for v in values if not dim.low <= v <= dim.high]
    if outside:
        raise ParamsError(
            f"tabulate.grid.{dim.name}: {outside} outside [{dim.low:g}, {dim.high:g}]"
        )
    return values


def configurations(space: SearchSpace, grid: dict) -> list[dict]:
    """Every configuration of the grid, in a fixed order (declaration order, values in order)."""
    found = [{}]
    for dim in space:
        values = values_of(dim, grid)
        grown = []
        for partial in found:
            if space.active({**partial, dim.name: values[0]}).get(dim.name) is None:
                grown.append(partial)  # inactive under this configuration
            else:
                grown += [{**partial, dim.name: v} for v in values]
        found = grown
    return found


def snap(space: SearchSpace, grid: dict, hp: dict) -> dict:
    """The grid point nearest to a suggestion, dimension by dimension (1-nearest neighbour)."""
    out = {}
    for dim in space:
        if dim.name not in hp or hp[dim.name] is None:
            if len(dim.choices or ()) == 1:  # a fixed value needs no suggestion
                out[dim.name] = dim.choices[0]
            continue
        values = values_of(dim, grid)
        if dim.choices is not None:
            out[dim.name] = hp[dim.name]
            continue

        def distance(v, x=float(hp[dim.name]), log=dim.log):
            return abs(math.log(v) - math.log(x)) if log else abs(v - x)

        out[dim.name] = min(values, key=distance)
    return space.active(out)


def check_grid(space: SearchSpace, tabulate: dict, complete: bool = True) -> int:
    """Refuse a grid that lists a value outside its range or (`complete`: the replay is on)
    names no range of the space or misses one; return how many configurations it has (0 when
    not complete)."""
    ranges = {d.name: d for d in space if d.choices is None}
    for name in tabulate["grid"]:
        if name not in ranges and not complete:
            continue  # the replay is off: a value for no range of this space is unused
        if name not in ranges:
            what = "is not in search_space" if name not in space.names else "is not a range"
            raise ParamsError(
                f"tabulate.grid.{name}: {what} (the grid lists int and float values)"
            )
        values_of(ranges[name], tabulate["grid"])
    shards = list(tabulate["shards"])
    if sorted(shards) != list(range(1, len(shards) + 1)):
        raise ParamsError(f"tabulate.shards: number the shards 1..N, not {shards}")
    return len(configurations(space, tabulate["grid"])) if complete else 0


def key(hp: dict) -> tuple:
    """A configuration as a hashable key (values as text, so 3 and 3.0 stay apart only by
    type where the grid has them so)."""
    return tuple(sorted((k, repr(v)) for k, v in hp.items() if v is not None))
