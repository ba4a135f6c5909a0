"""Stripe payments for Tillbook: stored cards, off-session charges and refunds.

The plugin registers as ``payments_stripe`` in the ``tillbook`` entry-point
group; see ``tillbook_payments_stripe.plugin`` for its settings.
"""
