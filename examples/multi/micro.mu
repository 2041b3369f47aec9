# The multi example: web shows posts, posts name their authors from users.
# Run it with `micro run examples/multi`.

service users
    path ./users
    port 8081

service posts
    path ./posts
    port 8082
    depends users

service web
    path ./web
    port 8089
    depends users posts

env development
    GREETING hello from development

env production
    GREETING hello from production
