"""Channel connectors: one sub-package per channel, all speaking connectors.base."""
