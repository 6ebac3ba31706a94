"""The Apache Beam preprocessing pipeline: corpus files -> vocabulary + skip-gram pair shards."""
