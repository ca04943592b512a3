-- What the object detector found in each picture and where (SPEC Part 2,
-- "Picture objects"): JSON [{"label", "confidence", "box": {x, y, w, h}}],
-- boxes relative to the image, those at the upload's min_confidence, the
-- surest first, at most 50. NULL: none looked for, or found. Searching by
-- an object's name goes through its tags, which the tagger adds with it.
-- @unless column pictures.objects
ALTER TABLE pictures ADD COLUMN objects TEXT NULL;
