"""The block scheme's ownership rules (sgns.train.blocks) and its in-process exchange: every
bucket trained once per chunk, no row owned twice in an episode, blocks balanced by pairs,
negatives from the owner's block only, routing in the order real ranks receive."""

import numpy as np
import pytest
import torch

from sgns.train import blocks
from sgns.train.exchange import Exchange
from sgns.train.sampler import AliasSampler


def zipf_counts(vocab: int) -> np.ndarray:
    return np.maximum(5, 10_000_000 // np.arange(1, vocab + 1))  # ids by count, as a dataset's


@pytest.mark.parametrize("ranks", [1, 2, 3, 8])
def test_every_word_is_in_one_block_and_every_block_has_words(ranks):
    deal = blocks.Deal.for_counts(zipf_counts(101), 1e-3, ranks)
    sizes = torch.bincount(deal.of, minlength=ranks)
    assert int(sizes.sum()) == 101 and int(sizes.min()) >= 1 and len(sizes) == ranks
    for b in range(ranks):
        assert torch.equal(deal.words(b), torch.nonzero(deal.of == b).view(-1))
        assert bool((deal.block_of(deal.words(b)) == b).all())
    one_each = blocks.Deal.for_counts(zipf_counts(ranks), 1e-3, ranks)
    assert sorted(one_each.of.tolist()) == list(range(ranks))  # as many words as blocks


@pytest.mark.parametrize("ranks", [8, 16, 32])
def test_blocks_hold_equal_shares_of_the_pairs_and_nearly_equal_word_counts(ranks):
    """The deal balances the words' expected pairs (count x keep probability), which a chunk's
    buckets follow; the snake order it replaced left the block of the most frequent word 3-24%
    heavier (Zipf), so every episode waited on it."""
    counts = zipf_counts(100_000)
    weight = blocks.expected_pairs(counts, 1e-3)
    deal = blocks.Deal.for_counts(counts, 1e-3, ranks)
    mass = np.bincount(deal.of.numpy(), weights=weight, minlength=ranks)
    assert mass.max() / mass.mean() < 1.001
    ids = np.arange(len(counts)) % (2 * ranks)
    snake = np.bincount(np.where(ids < ranks, ids, 2 * ranks - 1 - ids), weights=weight)
    assert snake.max() / snake.mean() > 1.02  # what the test would pass with before
    words = np.bincount(deal.of.numpy(), minlength=ranks)
    assert words.max() / words.mean() < 1.01  # block transfers of about V / N rows each
    expected = np.outer(mass, mass)
    balanced = blocks.balance(torch.from_numpy(np.rint(expected / expected.sum() * 1e12)).long())
    assert balanced > 0.99


def test_words_that_weigh_nothing_still_leave_no_block_empty():
    deal = blocks.Deal.for_counts([100, 0, 0, 0, 0, 0], 1e-3, 4)  # (no dataset has count 0)
    assert sorted(set(deal.of.tolist())) == [0, 1, 2, 3]


def test_the_deal_is_a_function_of_the_counts_alone():
    counts = zipf_counts(5000)
    first = blocks.Deal.for_counts(counts, 1e-3, 8)
    assert torch.equal(first.of, blocks.Deal.for_counts(list(counts), 1e-3, 8).of)
    assert not torch.equal(first.of, blocks.Deal.for_counts(counts, 0.0, 8).of)  # raw counts


@pytest.mark.parametrize("ranks", [2, 4, 5])
def test_a_chunks_episodes_train_each_bucket_once_and_no_row_twice_at_a_time(ranks):
    trained = set()
    for episode in range(ranks):
        owned = [blocks.owned_blocks(r, episode, ranks) for r in range(ranks)]
        assert len({i for i, _ in owned}) == ranks and len({o for _, o in owned}) == ranks
        trained.update(owned)
        # each rank takes next the input block that rank r + 1 trained now: the rotation
        for r in range(ranks):
            nxt = blocks.owned_blocks(r, episode + 1, ranks)[0]
            assert nxt == blocks.owned_blocks((r + 1) % ranks, episode, ranks)[0]
    assert trained == {(i, o) for i in range(ranks) for o in range(ranks)}
    home = [blocks.owned_blocks(r, ranks, ranks) for r in range(ranks)]  # after the chunk
    assert home == [(r, r) for r in range(ranks)]
    deal = blocks.Deal.for_counts(zipf_counts(30), 1e-3, ranks)
    rows = torch.cat([deal.home_rows(r) for r in range(ranks)])
    assert sorted(rows.tolist()) == list(range(60))  # the ranks' home rows tile the table


def test_negatives_come_from_the_owners_output_block_in_proportion_to_count():
    counts = [1000 // (i + 1) + 5 for i in range(40)]
    deal = blocks.Deal.for_counts(counts, 1e-3, 4)
    noise = deal.noise_weights(counts, 0.75, 1)
    sampler = AliasSampler(noise, 1.0)
    draws = sampler.sample((200_000,), 12345)
    assert set(deal.block_of(draws).tolist()) == {1}
    words = deal.words(1)
    expected = np.asarray(counts, dtype=np.float64)[words.numpy()] ** 0.75
    seen = torch.bincount(draws, minlength=40)[words].double().numpy()
    assert np.allclose(seen / seen.sum(), expected / expected.sum(), atol=0.005)


def test_routing_keeps_the_read_order_and_buckets_follow_the_center_blocks():
    g = torch.Generator().manual_seed(0)
    read = [torch.randint(0, 50, (300, 2), generator=g, dtype=torch.int32) for _ in range(3)]
    deal = blocks.Deal.for_counts(zipf_counts(50), 1e-3, 3)
    exchange = Exchange(deal, [0, 1, 2], torch.device("cpu"))
    owned, counts = exchange.route(read)
    all_pairs = torch.cat(read)
    assert torch.equal(counts, deal.bucket_counts(all_pairs[:, 0], all_pairs[:, 1]))
    for r, pairs in enumerate(owned):
        # rank r owns the pairs whose context is in block r, source 0's first, in read order
        expected = torch.cat([p[deal.block_of(p[:, 1]) == r] for p in read])
        assert torch.equal(pairs, expected)
        centers, contexts, offsets = deal.buckets(pairs[:, 0], pairs[:, 1])
        for a in range(3):
            part = centers[offsets[a] : offsets[a + 1]]
            assert bool((deal.block_of(part) == a).all())
            assert len(part) == int(counts[a, r])
    sizes = [blocks.episode_sizes(counts, e) for e in range(3)]
    assert sum(int(s.sum()) for s in sizes) == 900
    assert 0 < blocks.balance(counts) <= 1
    assert blocks.balance(torch.full((3, 3), 7)) == 1.0


def test_the_torch_engines_micro_step_shrinks_with_the_ranks_and_its_pool_spans_them():
    from sgns.train.config import TrainConfig
    from sgns.train.engines import for_blocks, pool_span

    base = TrainConfig(data="d", output="o", engine="torch", batch_size=131072)
    assert for_blocks(base, 1) is base and pool_span(base, base) == 1
    eight = for_blocks(base, 8)
    assert eight.micro_batch == 512 and eight.pool_size == base.pool_size == 80  # kept whole
    assert pool_span(base, eight) == 8  # one pool per 4096 pairs, as in one process
    assert pool_span(base, for_blocks(base, 32)) == 8  # 8 micro-steps of 128 at most
    given = TrainConfig(data="d", output="o", engine="torch", batch_size=131072, pool_size=33)
    assert for_blocks(given, 8).pool_size == 33
    three = for_blocks(TrainConfig(data="d", output="o", engine="torch", batch_size=12000), 3)
    assert three.micro_pairs <= 4096 // 3 and 12000 % three.micro_pairs == 0
    native = TrainConfig(data="d", output="o", engine="native")
    assert for_blocks(native, 8) is native  # pair by pair: nothing is summed


def test_the_routing_group_is_made_again_in_a_new_default_group(tmp_path):
    """(review) a second sgns.train call in one torchrun script: the first one's teardown
    destroyed every group, so the routing's own group is made again in the new one."""
    import torch.distributed as dist

    from sgns.train.exchange import _routing_group

    groups = []
    for run in range(2):
        store = dist.FileStore(str(tmp_path / f"store{run}"), 1)
        dist.init_process_group("gloo", store=store, rank=0, world_size=1)
        try:
            group = _routing_group()
            assert _routing_group() is group  # one per default group
            out = [torch.zeros(1)]
            dist.all_gather(out, torch.ones(1), group=group)  # it works
            assert out[0].item() == 1.0
            groups.append(group)
        finally:
            dist.destroy_process_group()
    assert groups[0] is not groups[1]
