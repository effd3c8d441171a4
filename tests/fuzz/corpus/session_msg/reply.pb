P29
yesä1

3EB0ABCDEF15550001111@s.whatsapp.net
Hello