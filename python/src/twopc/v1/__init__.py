"""The wire contract, twopc.v1, generated from proto/twopc/v1 (tools/generate.py). Never edited by hand."""
