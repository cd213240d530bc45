"""Times whatstk (the earlier product's parser) on one export; prints 'seconds messages'."""
import sys
import time

from whatstk import WhatsAppChat

path = sys.argv[1]
start = time.perf_counter()
# whatstk 0.9 refuses files over 50 MB unless max_size is lifted.
chat = WhatsAppChat.from_source(filepath=path, max_size=None)
elapsed = time.perf_counter() - start
print(f"{elapsed:.4f} {len(chat.df)}")
