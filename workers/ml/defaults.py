"""Default model names, in one torch-free place shared by the config and the model classes."""

CLIP_MODEL = "ViT-B-32"
CLIP_PRETRAINED = "laion2b_s34b_b79k"
TEXT_MODEL = "Qwen/Qwen3-Embedding-0.6B"
# The instruction the Qwen3-Embedding card uses for retrieval; queries are short searches here too.
TEXT_TASK = "Given a web search query, retrieve relevant passages that answer the query"
RERANK_MODEL = "Qwen/Qwen3-Reranker-0.6B"

# Captions (the "caption" analyser, on with MEDIAVAULT_CAPTIONS=on).
CAPTION_MODEL = "Qwen/Qwen3-VL-2B-Instruct"
CAPTION_PROMPT = ("Describe this photo in one short factual sentence in {language}: what it shows, "
                  "where, and what is happening. No opinions, no guesses about names.")
CAPTION_LANGUAGE = "English"
# Qwen3-VL reads a picture as one token per 32x32 pixels: 640x640 is 400 tokens.
VL_MAX_PIXELS = 640 * 640

# The multimodal kind (Qwen3-VL-Embedding: pictures and texts in one space) is off unless a model is
# named (MEDIAVAULT_MULTIMODAL_MODEL, e.g. "Qwen/Qwen3-VL-Embedding-2B").
MULTIMODAL_MODEL = ""
# The instruction the Qwen3-VL-Embedding examples give queries; pictures and documents get the
# model's default one.
MULTIMODAL_TASK = "Retrieve images or text relevant to the user's query."
MULTIMODAL_DOCUMENT_TASK = "Represent the user's input."
