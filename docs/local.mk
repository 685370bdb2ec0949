dist_doc_DATA += README.md
