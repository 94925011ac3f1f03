module gantry.example/hello-go

go 1.21
