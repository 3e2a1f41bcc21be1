"""The compiled ranking behind :func:`models.reason_codes.rank_reasons`: each row's largest entries, ties to
the alphabetically first feature, in one pass over the row."""

import numba

__all__ = ["top_k"]


@numba.njit(parallel=True, cache=True, nogil=True)
def top_k(v, order, ranked, top):  # pragma: no cover - compiled
    # per row, the k largest entries in the columns' alphabetical order ``order``: pass j takes the largest entry
    # ranking after pass j-1's in (value descending, position ascending), so equal values go alphabetically, as k
    # rounds of "take the first maximum, then remove it" would, without a copy of the row to remove it from
    n_features, k = order.shape[0], ranked.shape[1]
    for i in numba.prange(v.shape[0]):
        last_value, last_position = v[i, order[0]], -1
        for j in range(k):
            best_value, best_position = v[i, order[0]], -1
            for position in range(n_features):
                value = v[i, order[position]]
                if j > 0 and not (value < last_value or (value == last_value and position > last_position)):
                    continue  # taken by an earlier pass
                if best_position < 0 or value > best_value:
                    best_value, best_position = value, position
            ranked[i, j], top[i, j] = best_position, best_value
            last_value, last_position = best_value, best_position
