"""The block scheme's ownership rules (sgns.train.blocks) and its in-process exchange: every
bucket trained once per chunk, no row owned twice in an episode, blocks balanced by count,
negatives from the owner's block only, routing in the order real ranks receive."""

import numpy as np
import pytest
import torch

from sgns.train import blocks
from sgns.train.exchange import Exchange
from sgns.train.sampler import AliasSampler


@pytest.mark.parametrize("ranks", [1, 2, 3, 8])
def test_every_word_is_in_one_block_and_blocks_differ_by_at_most_one_word(ranks):
    vocab = 101
    owners = blocks.block_of(torch.arange(vocab), ranks)
    sizes = torch.bincount(owners, minlength=ranks)
    assert int(sizes.sum()) == vocab and int(sizes.max() - sizes.min()) <= 1
    for b in range(ranks):
        assert torch.equal(blocks.block_words(vocab, b, ranks), torch.nonzero(owners == b).view(-1))


def test_snake_order_balances_the_noise_mass_of_a_zipf_vocabulary():
    noise = (1e6 / torch.arange(1, 100_001, dtype=torch.float64)) ** 0.75  # ids by count
    owners = blocks.block_of(torch.arange(len(noise)), 8)
    mass = torch.zeros(8, dtype=torch.float64).index_add_(0, owners, noise)
    dealt = torch.zeros(8, dtype=torch.float64).index_add_(0, torch.arange(100_000) % 8, noise)
    assert float(mass.min() / mass.max()) > 0.9  # block 0 holds the most frequent word
    assert float(mass.min() / mass.max()) > float(dealt.min() / dealt.max())  # round robin


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
    rows = torch.cat([blocks.home_rows(r, 30, ranks) for r in range(ranks)])
    assert sorted(rows.tolist()) == list(range(60))  # the ranks' home rows tile the table


def test_negatives_come_from_the_owners_output_block_in_proportion_to_count():
    counts = [1000 // (i + 1) + 5 for i in range(40)]
    noise = blocks.noise_weights(counts, 0.75, 1, 4)
    sampler = AliasSampler(noise, 1.0)
    draws = sampler.sample((200_000,), 12345)
    assert set(blocks.block_of(draws, 4).tolist()) == {1}
    words = blocks.block_words(40, 1, 4)
    expected = np.asarray(counts, dtype=np.float64)[words.numpy()] ** 0.75
    seen = torch.bincount(draws, minlength=40)[words].double().numpy()
    assert np.allclose(seen / seen.sum(), expected / expected.sum(), atol=0.005)


def test_routing_keeps_the_read_order_and_buckets_follow_the_center_blocks():
    g = torch.Generator().manual_seed(0)
    read = [torch.randint(0, 50, (300, 2), generator=g, dtype=torch.int32) for _ in range(3)]
    exchange = Exchange(3, [0, 1, 2], torch.device("cpu"), 50)
    owned, counts = exchange.route(read)
    all_pairs = torch.cat(read)
    assert torch.equal(counts, blocks.bucket_counts(all_pairs[:, 0], all_pairs[:, 1], 3))
    for r, pairs in enumerate(owned):
        # rank r owns the pairs whose context is in block r, source 0's first, in read order
        expected = torch.cat([p[blocks.block_of(p[:, 1], 3) == r] for p in read])
        assert torch.equal(pairs, expected)
        centers, contexts, offsets = blocks.buckets(pairs[:, 0], pairs[:, 1], 3)
        for a in range(3):
            part = centers[offsets[a] : offsets[a + 1]]
            assert bool((blocks.block_of(part, 3) == a).all())
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
