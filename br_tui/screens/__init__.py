"""One module per screen (Sessions, Workers, Feed, Costs, Security), the dialogs, and the
bridge that brings committed engine batches to the UI loop."""
