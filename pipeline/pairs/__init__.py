"""Skip-gram pairs: drawn per block, scattered as pieces, merged and shuffled into shards."""
