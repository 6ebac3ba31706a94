"""The Apache Beam preprocessing pipeline: corpus files -> vocabulary + skip-gram pair shards."""

import logging

# Importing apache_beam without its GCP extras logs "apitools not found ..." on the root logger,
# a line every local run would print before anything of ours; it says nothing about local runs.
logging.getLogger().addFilter(lambda record: "apitools not found" not in record.getMessage())
