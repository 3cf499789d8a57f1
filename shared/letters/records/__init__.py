"""What a village office keeps beside the letters themselves: the outgoing-letter register, reports."""
