"""The vocabulary: counted per block, summed over the corpus, and written as vocab.tsv."""
