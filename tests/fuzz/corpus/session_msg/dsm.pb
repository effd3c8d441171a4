Pú%
15550002222@s.whatsapp.net
Hello