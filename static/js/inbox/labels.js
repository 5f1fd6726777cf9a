// labels: filled by the labels module of the inbox.
