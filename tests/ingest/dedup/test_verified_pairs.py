"""Links over verified pairs: each document one step nearer the kept one."""

from __future__ import annotations

from collections import defaultdict

from ingest.dedup.verified_pairs import shortest_links


def graph_of(pairs: dict[tuple[str, str], float]) -> dict[str, dict[str, float]]:
    graph: dict[str, dict[str, float]] = defaultdict(dict)
    for (a, b), similarity in pairs.items():
        graph[a][b] = graph[b][a] = similarity
    return graph


def test_each_document_links_to_its_most_similar_neighbour_one_step_nearer_the_kept_one() -> None:
    graph = graph_of({("k", "a"): 0.9, ("k", "b"): 0.8, ("a", "c"): 0.85, ("b", "c"): 0.95, ("c", "d"): 0.99,
                      ("a", "b"): 1.0})
    # b is linked to k (one step), never to the more similar a (as far from k as b is);
    # c to b, its more similar neighbour one step nearer; d to c.
    assert shortest_links("k", graph) == {"a": "k", "b": "k", "c": "b", "d": "c"}


def test_a_tie_in_similarity_links_the_smaller_id_whatever_the_order_of_the_pairs() -> None:
    pairs = {("k", "y"): 0.9, ("k", "x"): 0.9, ("x", "z"): 0.8, ("y", "z"): 0.8}
    reversed_pairs = dict(reversed(list(pairs.items())))
    assert shortest_links("k", graph_of(pairs)) == shortest_links("k", graph_of(reversed_pairs)) == \
        {"x": "k", "y": "k", "z": "x"}


def test_documents_not_connected_to_the_kept_one_get_no_link() -> None:
    assert shortest_links("k", graph_of({("k", "a"): 0.9, ("b", "c"): 0.9})) == {"a": "k"}
