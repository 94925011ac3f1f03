module github.com/gin-gonic/gin

go 1.18

require (
	github.com/bytedance/sonic v1.8.0
	github.com/gin-contrib/sse v0.1.0
	github.com/go-playground/validator/v10 v10.11.2
	github.com/goccy/go-json v0.10.0
	github.com/json-iterator/go v1.1.12
	github.com/mattn/go-isatty v0.0.17
	github.com/pelletier/go-toml/v2 v2.0.6
	github.com/stretchr/testify v1.8.1
	github.com/ugorji/go/codec v1.2.9
	golang.org/x/net v0.7.0
	google.golang.org/protobuf v1.28.1
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/chenzhuoyu/base64x v0.0.0-20221115062448-fe3a3abad311 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/go-playground/locales v0.14.1 // indirect
	github.com/go-playground/universal-translator v0.18.1 // indirect
	github.com/klauspost/cpuid/v2 v2.0.9 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/leodido/go-urn v1.2.1 // indirect
	github.com/modern-go/concurrent v0.0.0-20180228061459-e0a39a4cb421 // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/twitchyliquid64/golang-asm v0.15.1 // indirect
	golang.org/x/arch v0.0.0-20210923205945-b76863e36670 // indirect
	golang.org/x/crypto v0.5.0 // indirect
	golang.org/x/sys v0.5.0 // indirect
	golang.org/x/text v0.7.0 // indirect
)
