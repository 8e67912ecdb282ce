"""The human loop: a judging service over HTTP, a labelling and audit page, and queues of pairs for people.

`reljudge serve` runs `app.create_app` under uvicorn. Nothing heavy is imported here.
"""
