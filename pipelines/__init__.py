"""Item pipelines, one module per stage, in ITEM_PIPELINES order: extract, normalize, dedup, index."""
